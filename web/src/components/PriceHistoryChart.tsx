// A small inline SVG step chart of a lead's credit price over time (priceHistory, newest first
// from the API), with a text summary for assistive technology and a table behind a disclosure.
import { formatDateTime } from "../lib/format";
import { parseInstant } from "../lib/countdown";

export interface PricePointData {
  price: number;
  at: string;
  reason: string;
}

const W = 320;
const H = 120;
const PAD = { top: 12, right: 12, bottom: 22, left: 36 };

/** The points of the chart, oldest first, scaled into the plot area. */
export function chartPoints(history: readonly PricePointData[], now: number): { x: number; y: number; price: number; at: number }[] {
  const points = history.map((p) => ({ price: p.price, at: parseInstant(p.at) })).sort((a, b) => a.at - b.at);
  if (points.length === 0) return [];
  const t0 = points[0]!.at;
  const t1 = Math.max(now, points[points.length - 1]!.at);
  const prices = points.map((p) => p.price);
  let lo = Math.min(...prices);
  let hi = Math.max(...prices);
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  return points.map((p) => ({
    x: PAD.left + (t1 === t0 ? plotW / 2 : ((p.at - t0) / (t1 - t0)) * plotW),
    y: PAD.top + (1 - (p.price - lo) / (hi - lo)) * plotH,
    price: p.price,
    at: p.at,
  }));
}

export function PriceHistoryChart({ history }: { history: readonly PricePointData[] }) {
  const now = Date.now();
  const points = chartPoints(history, now);
  const prices = history.map((p) => p.price);
  const summary =
    points.length === 0
      ? "No price history yet."
      : `Price history: ${points.length} change${points.length === 1 ? "" : "s"}, from ${points[0]!.price} to ${points[points.length - 1]!.price} credits (low ${Math.min(...prices)}, high ${Math.max(...prices)}).`;
  // a step line: each price holds until the next change, the last until now
  const path: string[] = [];
  points.forEach((p, i) => {
    if (i === 0) path.push(`M${p.x.toFixed(1)},${p.y.toFixed(1)}`);
    else path.push(`H${p.x.toFixed(1)}`, `V${p.y.toFixed(1)}`);
  });
  if (points.length > 0) path.push(`H${(W - PAD.right).toFixed(1)}`);
  const maxY = PAD.top;
  const minY = H - PAD.bottom;
  return (
    <figure className="chart">
      <svg data-testid="price-history" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="price-history-title" className="chart__svg" preserveAspectRatio="xMidYMid meet">
        <title id="price-history-title">{summary}</title>
        <line x1={PAD.left} y1={minY} x2={W - PAD.right} y2={minY} className="chart__axis" />
        <line x1={PAD.left} y1={maxY} x2={PAD.left} y2={minY} className="chart__axis" />
        {points.length > 0 ? (
          <>
            {Math.max(...prices) === Math.min(...prices) ? (
              <text x={PAD.left - 4} y={points[0]!.y + 4} className="chart__label" textAnchor="end">
                {prices[0]}
              </text>
            ) : (
              <>
                <text x={PAD.left - 4} y={maxY + 4} className="chart__label" textAnchor="end">
                  {Math.max(...prices)}
                </text>
                <text x={PAD.left - 4} y={minY} className="chart__label" textAnchor="end">
                  {Math.min(...prices)}
                </text>
              </>
            )}
            <path d={path.join(" ")} className="chart__line" fill="none" />
            {points.map((p) => (
              <circle key={`${p.at}-${p.price}`} cx={p.x} cy={p.y} r={3} className="chart__dot" />
            ))}
            <text x={PAD.left} y={H - 6} className="chart__label">
              {new Date(points[0]!.at).toLocaleDateString("en-US", { month: "short", day: "numeric" })}
            </text>
            <text x={W - PAD.right} y={H - 6} className="chart__label" textAnchor="end">
              now
            </text>
          </>
        ) : (
          <text x={W / 2} y={H / 2} className="chart__label" textAnchor="middle">
            No price changes yet
          </text>
        )}
      </svg>
      <figcaption className="chart__caption">{summary} List prices, before your tier discount.</figcaption>
      {history.length > 0 ? (
        <details className="chart__details">
          <summary>Price changes as a table</summary>
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Credits</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {history.map((p) => (
                <tr key={`${p.at}-${p.price}`}>
                  <td>{formatDateTime(p.at)}</td>
                  <td>{p.price}</td>
                  <td className="chart__reason">{p.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
    </figure>
  );
}
