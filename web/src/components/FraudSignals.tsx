// The fraud signals of a lead as a list (a card and the lead page show the same one).
export function FraudSignals({ signals, emptyText }: { signals: readonly string[]; emptyText?: string }) {
  if (signals.length === 0) return emptyText ? <p className="fraud__signals">{emptyText}</p> : null;
  return (
    <ul className="fraud__signals">
      {signals.map((signal) => (
        <li key={signal}>{signal}</li>
      ))}
    </ul>
  );
}
