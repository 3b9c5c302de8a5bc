"""PushT episodes from the real `gym-pusht` simulator, driven by a scripted pushing policy.

The simulator steps at `SIM_HZ` (the env's own 10 ms physics step); the policy decides a new
target position at `action_hz` and the agent's PD controller chases it in between. Everything is
deterministic for a given seed: the env's reset RNG and the policy use only that seed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SIM_HZ", "WRIST_FIELD", "PushTEpisode", "ScriptedPusher", "crop_around", "simulate_pusht"]

#: Physics rate of the simulation (gym-pusht's `dt` = 10 ms).
SIM_HZ = 100

#: Side of the table square the wrist camera sees, in simulator pixels (the table is 512).
WRIST_FIELD = 160.0
#: Radius of the agent disc in simulator pixels (gym-pusht's `add_circle(..., 15)`).
_AGENT_RADIUS = 15.0
#: Local center of gravity of the T (midpoint of its two bars' centroids).
_T_COG = (0.0, 45.0)


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


@dataclass
class ScriptedPusher:
    """A hand-written PushT policy: walk around the T, then push it toward the goal pose.

    It pushes along the line from the T's center of gravity to the goal's, at a contact point
    shifted sideways so the push also turns the T toward the goal angle (torque sign from the
    cross product of lever arm and push direction). It reaches the contact point along a circle
    around the T so the approach itself does not knock the T away.
    """

    orbit_radius: float = 110.0
    push_depth: float = 40.0
    turn_gain: float = 30.0  # pixels of lever arm per radian of angle error
    max_lever: float = 25.0
    done_dist: float = 6.0  # pixels: the T is in place when closer than this to the goal ...
    done_angle: float = 0.1  # radians: ... and turned less than this away from it
    _pushing: bool = field(default=False, repr=False)

    def __call__(self, env: Any) -> np.ndarray:
        """The next target position (x, y) in simulator pixels for the env's current state."""
        agent = np.array(env.agent.position, dtype=np.float64)
        block = env.block
        goal = env.get_goal_pose_body(env.goal_pose)
        cog = np.array(block.local_to_world(_T_COG))
        goal_cog = np.array(goal.local_to_world(_T_COG))
        to_goal = goal_cog - cog
        dist = float(np.linalg.norm(to_goal))
        d_angle = _wrap(float(env.goal_pose[2]) - float(block.angle))
        if dist < self.done_dist and abs(d_angle) < self.done_angle:
            # In place: back off from the T and wait, as a demonstrator would.
            away = agent - cog
            norm = float(np.linalg.norm(away)) or 1.0
            self._pushing = False
            return np.clip(cog + away / norm * max(norm, self.orbit_radius), 20, 492).astype(np.float32)
        if dist < 8.0:
            # Close enough in position: push across the stem to turn the T in place.
            direction = np.array([math.cos(block.angle), math.sin(block.angle)])
            lever = math.copysign(self.max_lever, -d_angle)
        else:
            direction = to_goal / dist
            lever = float(np.clip(-self.turn_gain * d_angle, -self.max_lever, self.max_lever))
        normal = np.array([-direction[1], direction[0]])
        # Torque of a push along `direction` through cog + lever*normal is -lever (2-d cross
        # product), so a negative lever turns the T counter-clockwise (toward a positive error).
        through = cog + lever * normal
        back = self._exit_distance(block, through, -direction) + _AGENT_RADIUS + 2.0
        contact = through - back * direction

        # Push along the line through the contact point while the agent stays on it and has not
        # gone past the T (then it missed, or the T turned away: approach again).
        along = float(np.dot(agent - contact, direction))
        off_line = float(np.linalg.norm(agent - contact - along * direction))
        on_line = off_line < 20.0 and along < back + 10.0
        if (self._pushing and on_line) or np.linalg.norm(agent - contact) < 12.0:
            self._pushing = True
            # Push softer near the goal so the T does not overshoot it.
            depth = min(self.push_depth, 8.0 + 0.5 * dist)
            target = contact + (max(along, 0.0) + depth) * direction
            return np.clip(target, 20, 492).astype(np.float32)
        self._pushing = False
        # Approach: move along a circle around the T until on the contact's side, then go in.
        a_agent = math.atan2(agent[1] - cog[1], agent[0] - cog[0])
        a_contact = math.atan2(contact[1] - cog[1], contact[0] - cog[0])
        delta = _wrap(a_contact - a_agent)
        if abs(delta) < 0.35:
            target = contact
        else:
            step = a_agent + float(np.clip(delta, -0.6, 0.6))
            target = cog + self.orbit_radius * np.array([math.cos(step), math.sin(step)])
        return np.clip(target, 20, 492).astype(np.float32)

    @staticmethod
    def _exit_distance(block: Any, start: np.ndarray, ray: np.ndarray) -> float:
        """Distance from `start` along `ray` to where it leaves the T (farthest boundary crossing)."""
        import shapely.geometry as sg

        polys = [sg.Polygon([block.local_to_world(v) for v in s.get_vertices()]) for s in block.shapes]
        t_shape = polys[0].union(polys[1])
        far = start + ray * 200.0
        hit = t_shape.boundary.intersection(sg.LineString([tuple(start), tuple(far)]))
        points = [np.array(p.coords[0]) for p in getattr(hit, "geoms", [hit]) if not p.is_empty]
        if not points:
            return 0.0
        return max(float(np.linalg.norm(p - start)) for p in points)


@dataclass(frozen=True)
class PushTEpisode:
    """One simulated episode sampled at `SIM_HZ` (step k is at time k / SIM_HZ seconds).

    `state[k]` is `[agent_x, agent_y, block_x, block_y, block_angle]` in simulator pixels and
    radians after step k; `action[k]` the target position commanded during step k (held between
    policy decisions); `coverage[k]` the fraction of the goal covered by the T (the env's reward
    before clipping). `frame(k)` renders the scene as it was after step k.
    """

    seed: int
    state: np.ndarray  # (K, 5) float64
    action: np.ndarray  # (K, 2) float32
    coverage: np.ndarray  # (K,) float64
    top: np.ndarray  # (K_render, H, W, 3) uint8 rendered at `render_steps`
    wrist: np.ndarray  # (K_render, h, w, 3) uint8: crop around the agent
    render_steps: np.ndarray  # (K_render,) sim step of each rendered frame

    @property
    def duration_s(self) -> float:
        """Episode length in s: `len(state)` steps of 1 / SIM_HZ s each."""
        return len(self.state) / SIM_HZ


def _make_env(top_size: int) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pygame (imported by gym.make) warns about pkg_resources
        import gym_pusht  # noqa: F401  (registers the env)
        import gymnasium as gym

        env: Any = gym.make(
            "gym_pusht/PushT-v0",
            obs_type="state",
            render_mode="rgb_array",
            observation_width=top_size,
            observation_height=top_size,
        ).unwrapped
    env.control_hz = SIM_HZ  # one 10 ms physics step per env.step: the policy sets its own rate
    return env


def simulate_pusht(
    seed: int,
    *,
    duration_s: float,
    action_hz: int,
    render_steps: np.ndarray,
    top_size: int = 96,
    wrist_size: int = 64,
    wrist_field: float = WRIST_FIELD,
    draw_agent: bool = True,
) -> PushTEpisode:
    """Run one episode of `duration_s` seconds; render the cameras after each step in `render_steps`.

    The top camera sees the whole 512x512 table at `top_size`; the wrist camera is a
    `wrist_size` crop of `wrist_field` simulator pixels centered on the agent. Without
    `draw_agent` the pusher disc is left out of the pictures (physics unchanged).
    """
    env = _make_env(top_size)
    env.reset(seed=seed)
    policy = ScriptedPusher()
    n_steps = round(duration_s * SIM_HZ)
    hold = SIM_HZ // action_hz
    states = np.empty((n_steps, 5), np.float64)
    actions = np.empty((n_steps, 2), np.float32)
    coverage = np.empty(n_steps, np.float64)
    render_at = {int(s): i for i, s in enumerate(render_steps)}
    tops: list[np.ndarray] = []
    wrists: list[np.ndarray] = []
    wrist_scale = 512 / wrist_field * wrist_size  # full-table render size for the crop
    action = np.zeros(2, np.float32)
    for k in range(n_steps):
        if k % hold == 0:
            action = policy(env)
        obs, _, _, _, info = env.step(action)
        states[k] = obs
        actions[k] = action
        coverage[k] = info["coverage"]
        if k in render_at:
            screen = env._draw() if draw_agent else _draw_without_agent(env)
            tops.append(env._get_img(screen, width=top_size, height=top_size))
            big = env._get_img(screen, width=round(wrist_scale), height=round(wrist_scale))
            wrists.append(crop_around(big, np.asarray(obs[:2]) * wrist_scale / 512, wrist_size))
    env.close()
    return PushTEpisode(
        seed=seed,
        state=states,
        action=actions,
        coverage=coverage,
        top=np.stack(tops) if tops else np.zeros((0, top_size, top_size, 3), np.uint8),
        wrist=np.stack(wrists) if wrists else np.zeros((0, wrist_size, wrist_size, 3), np.uint8),
        render_steps=np.asarray(sorted(render_at), np.int64),
    )


def _draw_without_agent(env: Any) -> Any:
    """`env._draw()` (goal, then the space) minus the agent, the scene's only circle."""
    import pygame
    import pymunk.pygame_util
    from gym_pusht.envs.pymunk_override import DrawOptions

    class _NoCircles(DrawOptions):  # type: ignore[misc]
        def draw_circle(self, *args: Any, **kwargs: Any) -> None:
            pass

    screen = pygame.Surface((512, 512))
    screen.fill((255, 255, 255))
    goal = env.get_goal_pose_body(env.goal_pose)
    for shape in env.block.shapes:
        points = [pymunk.pygame_util.to_pygame(goal.local_to_world(v), screen) for v in shape.get_vertices()]
        pygame.draw.polygon(screen, pygame.Color("LightGreen"), points)
    env.space.debug_draw(_NoCircles(screen))
    return screen


def crop_around(image: np.ndarray, center_xy: np.ndarray, size: int) -> np.ndarray:
    """A `size`x`size` crop of `image` centered on `center_xy` (x, y), padded white at the edges."""
    pad = size
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), constant_values=255)
    x0 = round(float(center_xy[0])) + pad - size // 2
    y0 = round(float(center_xy[1])) + pad - size // 2
    return np.ascontiguousarray(padded[y0 : y0 + size, x0 : x0 + size])
