import { countdownLabel, formatCountdown, remainingSeconds } from "../lib/countdown";
import { useNow } from "./useNow";

/** m:ss until `deadline` (server clock = local clock + skewMs); never negative. */
export function Countdown({ deadline, skewMs, testId, warnBelow = 60 }: { deadline: number | string; skewMs: number; testId: string; warnBelow?: number }) {
  const now = useNow();
  const seconds = remainingSeconds(deadline, skewMs, now);
  const tone = seconds === 0 ? "countdown countdown--over" : seconds <= warnBelow ? "countdown countdown--low" : "countdown";
  return (
    <time className={tone} data-testid={testId} data-seconds={seconds} title={countdownLabel(seconds)}>
      {formatCountdown(seconds)}
    </time>
  );
}
