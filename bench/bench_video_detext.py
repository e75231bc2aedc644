"""VideoDetext speed on a generated 8 s 640x360 video with captions (default region, whole video)."""

from _video_bench import bench

from tests.mediagen.video import caption_video

CUES = [(0.5, 3.0, "Hello from the local engine"), (3.5, 7.5, "Captions at known times")]

if __name__ == "__main__":
    bench("VideoDetext", lambda d: caption_video(d / "in.mp4", CUES, seconds=8).path)
