"""Workflow (业务流程): applications, steps and channels, with maker-checker separation of duties."""
