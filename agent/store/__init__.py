"""The host store: content-addressed blobs, unpacked layers, images and deployments."""
