// Sign in, or register (toggle). On success the token goes to localStorage["aiq.token"] and the
// app rebuilds its client for the new user.
import { type FormEvent, useState } from "react";
import { useClient } from "urql";
import { LoginDocument, RegisterDocument } from "../gql/graphql";
import { fromCombined, fromUserErrors } from "../lib/errors";
import { href, navigate, useLocation } from "../lib/router";
import { lastSignOutReason, setToken } from "../lib/session";

/** Only same-app paths are followed after sign-in (no open redirect). */
export function safeNext(search: string): string {
  const next = new URLSearchParams(search).get("next");
  return next && next.startsWith(href("/")) && !next.startsWith("//") && !next.includes("/signin") ? next : href("/");
}

export function SignInPage() {
  const client = useClient();
  const { search } = useLocation();
  const [mode, setMode] = useState<"signin" | "register">("signin");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; field?: string | null } | null>(null);
  const reason = lastSignOutReason();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result =
      mode === "signin"
        ? await client.mutation(LoginDocument, { email, password }).toPromise().then((r) => ({ payload: r.data?.login, error: r.error }))
        : await client.mutation(RegisterDocument, { input: { email, password, name } }).toPromise().then((r) => ({ payload: r.data?.register, error: r.error }));
    setBusy(false);
    const failure = result.payload ? fromUserErrors(result.payload.errors) : result.error ? fromCombined(result.error) : null;
    if (failure || !result.payload?.token) {
      setError(failure ?? { message: "Signing in failed." });
      return;
    }
    const next = safeNext(search);
    setToken(result.payload.token);
    navigate(next, { replace: true });
  }

  const registering = mode === "register";
  const errorFor = (field: string) => (error?.field === field ? { "aria-invalid": true, "aria-describedby": "signin-error" } : {});

  return (
    <div className="signin-page">
      <h1 tabIndex={-1} data-page-heading>
        {registering ? "Create account" : "Sign in"}
      </h1>
      {reason ? <p className="notice notice--warn">{reason}</p> : null}
      <form className="panel signin-form" onSubmit={submit}>
        {registering ? (
          <div className="field">
            <label htmlFor="signin-name">Name</label>
            <input id="signin-name" type="text" autoComplete="name" required value={name} onChange={(e) => setName(e.target.value)} {...errorFor("name")} />
          </div>
        ) : null}
        <div className="field">
          <label htmlFor="signin-email">Email</label>
          <input id="signin-email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} {...errorFor("email")} />
        </div>
        <div className="field">
          <label htmlFor="signin-password">Password</label>
          <input
            id="signin-password"
            type="password"
            autoComplete={registering ? "new-password" : "current-password"}
            required
            minLength={registering ? 8 : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-describedby={registering ? "password-hint" : undefined}
            {...errorFor("password")}
          />
          {registering ? (
            <p className="hint" id="password-hint">
              At least 8 characters.
            </p>
          ) : null}
        </div>
        {error ? (
          <p className="error" role="alert" id="signin-error">
            {error.message}
          </p>
        ) : null}
        <button type="submit" className="button button--primary" disabled={busy}>
          {registering ? "Create account" : "Sign in"}
        </button>
      </form>
      <p>
        <button
          type="button"
          className="button button--link"
          onClick={() => {
            setMode(registering ? "signin" : "register");
            setError(null);
          }}
        >
          {registering ? "I already have an account" : "New here? Create an account"}
        </button>
      </p>
    </div>
  );
}
