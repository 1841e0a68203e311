"""Speed plumbing: settings that make the same computation faster, kept out of the teaching code."""
