"""Digests and alerts: what each platform contributes (sections, alert sources) and how a
subscription's run is composed and delivered."""
