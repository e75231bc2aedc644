"""VideoClip speed on a generated 12-shot 640x360 video (about 12.6 s)."""

from _video_bench import bench

from tests.mediagen.video import SHOT_SOURCES, multi_shot_video

PLAN = [(name, 1.2) for name in SHOT_SOURCES] + [("testsrc2", 0.6), ("mandelbrot", 0.6)]

if __name__ == "__main__":
    bench("VideoClip", lambda d: multi_shot_video(d / "in.mp4", PLAN, size="640x360", tone=True).path)
