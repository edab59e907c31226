#!/usr/bin/env bash
# Builds audio/sample/反诈提醒.mp3: a two-tone chime, then a Mandarin anti-fraud reminder
# spoken by espeak-ng. Needs Debian's espeak-ng and ffmpeg (apt-get install espeak-ng ffmpeg).
set -euo pipefail
cd "$(dirname "$0")/.."

out="audio/sample/反诈提醒.mp3"
rate=22050
text="各位村民请注意，这里是镇广电站反诈提醒。\
公检法机关不会通过电话办案，不会要求您把钱转到所谓的安全账户。\
陌生来电要求转账汇款的，一律是诈骗。\
网上刷单返利、冒充客服退款、贷款先交保证金，都是诈骗。\
接到可疑电话，请先挂断，再拨打反诈专线九六一一零咨询。\
守好钱袋子，全家都安心。"

for tool in espeak-ng ffmpeg; do
  command -v "$tool" >/dev/null || { echo "need $tool: sudo apt-get install $tool" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# -s 140: a little slower than the default, for outdoor loudspeakers with echo.
espeak-ng -v cmn -s 140 -w "$tmp/speech.wav" "$text"

# Peak-normalise the speech to -2 dBFS (espeak-ng speaks quietly). Its peaks are sharp, so a
# chime at -16 dBFS sounds about as loud. The media ingest sets the library's loudness anyway.
peak=$(ffmpeg -nostdin -hide_banner -i "$tmp/speech.wav" -af volumedetect -f null - 2>&1 \
  | sed -n 's/.*max_volume: \(-\?[0-9.]*\) dB.*/\1/p')
gain=$(awk -v p="$peak" 'BEGIN { printf "%.1f", -2 - p }')

mono="aresample=$rate,aformat=sample_fmts=s16:channel_layouts=mono"
bell="afade=t=in:duration=0.01,afade=t=out:start_time=0.05:curve=qsin"
# Ding-dong (E5 then C5, decaying like a bell), a short pause, the speech, a tail of silence.
ffmpeg -nostdin -hide_banner -loglevel error -y \
  -f lavfi -i "sine=frequency=659:duration=0.7:sample_rate=$rate" \
  -f lavfi -i "sine=frequency=523:duration=1.2:sample_rate=$rate" \
  -f lavfi -i "anullsrc=channel_layout=mono:sample_rate=$rate:duration=0.4" \
  -i "$tmp/speech.wav" \
  -filter_complex "\
[0]volume=1.3,$bell:duration=0.65,$mono[ding];\
[1]volume=1.3,$bell:duration=1.15,$mono[dong];\
[2]$mono[pause];[3]volume=${gain}dB,$mono[speech];\
[ding][dong][pause][speech]concat=n=4:v=0:a=1,apad=pad_dur=0.7[out]" \
  -map "[out]" -ac 1 -ar "$rate" -c:a libmp3lame -b:a 64k \
  -map_metadata -1 -fflags +bitexact -flags:a +bitexact \
  -metadata title="反诈提醒（示例）" -metadata artist="broadcastctl sample" \
  "$tmp/out.mp3"

mkdir -p "$(dirname "$out")"
mv "$tmp/out.mp3" "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
