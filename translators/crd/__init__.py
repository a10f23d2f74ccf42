"""The ContainerDeployment custom resource: models, conversion to and from specs, and its CRD."""
