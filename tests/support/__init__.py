"""Helpers the tests share: real servers and processes on loopback, never mocks of candor."""
