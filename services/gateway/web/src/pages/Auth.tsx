import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { api } from "../api/client";
import { keys } from "../api/hooks";
import { ErrorNote } from "../ui";

/** Where to go once signed in: back to the page that sent the person here (an invitation), else home. */
function returnPath(state: unknown): string {
  const from = (state as { from?: unknown } | null)?.from;
  return typeof from === "string" && from.startsWith("/") && !from.startsWith("//") ? from : "/";
}

export function AuthPage({ mode }: { mode: "signin" | "signup" }) {
  const navigate = useNavigate();
  const { state } = useLocation();
  const client = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const signup = mode === "signup";

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body = Object.fromEntries(form.entries());
    setBusy(true);
    setError(null);
    try {
      await api(`/api/auth/${mode}`, { method: "POST", body });
      client.clear();
      await client.invalidateQueries({ queryKey: keys.me });
      navigate(returnPath(state), { replace: true });
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth">
      <form className="auth-card" onSubmit={submit} aria-label={signup ? "Sign up" : "Sign in"}>
        <h1>
          <span className="logo" aria-hidden="true" /> AgentWorks
        </h1>
        <p className="muted">{signup ? "Create your account." : "Sign in to your production line."}</p>
        {signup ? (
          <label>
            Name
            <input name="name" autoComplete="name" required maxLength={100} />
          </label>
        ) : null}
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={signup ? "new-password" : "current-password"}
            required
            minLength={signup ? 10 : 1}
          />
        </label>
        {signup ? <p className="hint">At least 10 characters.</p> : null}
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Please wait…" : signup ? "Sign up" : "Sign in"}
        </button>
        <p className="muted">
          {signup ? (
            <>
              Have an account?{" "}
              <Link to="/signin" state={state}>
                Sign in
              </Link>
            </>
          ) : (
            <>
              New here?{" "}
              <Link to="/signup" state={state}>
                Create an account
              </Link>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
