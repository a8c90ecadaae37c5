"""Tests of the hello package (not shipped in the zip)."""
