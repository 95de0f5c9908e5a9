"""directpost: post your own videos and photos to TikTok through the official Content Posting API."""

__version__ = "0.1.0"
