"""Imports every module that registers actions. Add a line here for a new action module."""
