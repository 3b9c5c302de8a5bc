"""lerobot_nb: robot recordings (Rerun, MCAP, ROS bags, xgym, RLDS, LeRobot) to LeRobot v3.0 datasets.

inspect -> align -> enrich -> export -> validate; each step has one frozen config dataclass
shared by this API, the `lerobot-nb` CLI and the notebooks' papermill parameters.
"""

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.server import RecordingServer, ServerConfig, open_recordings

__all__ = ["LerobotNbError", "RecordingServer", "ServerConfig", "open_recordings"]
__version__ = "0.1.0"
