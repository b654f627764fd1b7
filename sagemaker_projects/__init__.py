"""The template as a SageMaker Projects custom template: seed, project template, registration."""
