"""The LED screens: the slogan rotation and temporary messages."""
