"""Implementation profiles: how longhaul finds and starts the platform it judges (see README)."""

from longhaul.profiles.loader import load_profile, load_reference, reference_profile_path
from longhaul.profiles.reader import ProfileError
from longhaul.profiles.schema import Profile

__all__ = ["Profile", "ProfileError", "load_profile", "load_reference", "reference_profile_path"]
