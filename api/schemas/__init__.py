"""Marshmallow schemas, one module per resource: separate input and output shapes; inputs reject unknown fields."""
