"""Cover speed on a generated 11 s 480x270 video (black/blurred/faded/sharp stretches)."""

from _video_bench import bench

from tests.mediagen.video import quality_segments_video

if __name__ == "__main__":
    bench("Cover", lambda d: quality_segments_video(d / "in.mp4").path)
    bench("Cover", lambda d: quality_segments_video(d / "in.mp4").path, {"Model": "gif"})
