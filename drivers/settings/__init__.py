"""The device and link settings drivers take (pydantic models), owned here so drivers never
import the controller.
"""
