"""The normalized event: what every source turns its signal into before it is stored."""
