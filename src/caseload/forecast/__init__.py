"""Backlog forecast: where the docket goes under a hiring plan, a priority policy and country cooperation."""
