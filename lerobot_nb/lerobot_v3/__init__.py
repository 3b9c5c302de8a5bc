"""The LeRobot v3.0 dataset format itself: its layout (paths, schemas, info.json), the tasks table,
reading a dataset folder and the packets of its videos. Below every step: sources read it, export
writes it, validate checks it, dataset rewrites it."""
