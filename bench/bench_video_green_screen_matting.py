"""VideoGreenScreenMatting speed on a generated 6 s 640x360 green screen (WebM alpha, and MP4 composite)."""

from pathlib import Path

from _video_bench import bench

from tests.mediagen.video import green_screen_video, smooth_background, write_image

BG = Path("/tmp/bench_green_bg.png")

if __name__ == "__main__":
    write_image(BG, smooth_background(800, 600, 1.0))
    bench("VideoGreenScreenMatting", lambda d: green_screen_video(d / "in.mp4", seconds=6).path)
    bench(
        "VideoGreenScreenMatting",
        lambda d: green_screen_video(d / "in.mp4", seconds=6).path,
        {"bgimage": str(BG)},
    )
