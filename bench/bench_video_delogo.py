"""VideoDelogo speed on a generated 8 s 640x360 video with a corner logo (given box, and found)."""

from _video_bench import bench

from tests.mediagen.video import logo_video

if __name__ == "__main__":
    bench(
        "VideoDelogo",
        lambda d: logo_video(d / "in.mp4", seconds=8).path,
        {"Boxes": "[[0.8, 0.03, 0.17, 0.15]]"},
    )
    bench("VideoDelogo", lambda d: logo_video(d / "in.mp4", seconds=8).path)
