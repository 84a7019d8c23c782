import { useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { api, ApiError } from "../api/client";
import { keys, useMe } from "../api/hooks";
import type { Workspace } from "../api/types";
import { ErrorNote, Spinner } from "../ui";

/** The link an owner sends: `/invite#<token>`. The token stays in the fragment, which no server or log sees. */
export function InvitePage() {
  const { hash } = useLocation();
  const token = hash.replace(/^#/, "");
  const me = useMe();
  if (!token) {
    return <InviteCard title="No invitation here">This link has no invitation in it; ask for a new one.</InviteCard>;
  }
  if (me.isPending) return <Spinner label="Opening your invitation…" />;
  const back = { from: `/invite#${token}` };
  if (me.error instanceof ApiError && me.error.status === 401) {
    return (
      <InviteCard title="You have been invited">
        <p>Sign in, or create an account, with the email address the invitation was sent to; then accept it.</p>
        <p className="row">
          <Link to="/signin" state={back}>
            Sign in
          </Link>
          <Link to="/signup" state={back}>
            Create an account
          </Link>
        </p>
      </InviteCard>
    );
  }
  if (me.error) return <ErrorNote error={me.error} onRetry={() => void me.refetch()} />;
  return <Accept token={token} email={me.data.email} back={back} />;
}

function Accept({ token, email, back }: { token: string; email: string; back: { from: string } }) {
  const navigate = useNavigate();
  const client = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function accept() {
    setBusy(true);
    setError(null);
    try {
      const workspace = await api<Workspace>("/api/invitations/accept", { method: "POST", body: { token } });
      await client.invalidateQueries({ queryKey: keys.workspaces });
      navigate(`/w/${workspace.id}`, { replace: true });
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  async function switchAccount() {
    await api("/api/auth/signout", { method: "POST" }).catch(() => undefined);
    client.clear();
    navigate("/signin", { replace: true, state: back });
  }

  return (
    <InviteCard title="You have been invited">
      <p>
        Accept the invitation as <strong>{email}</strong>?
      </p>
      <ErrorNote error={error} />
      <p className="row">
        <button type="button" className="primary" onClick={() => void accept()} disabled={busy}>
          {busy ? "Accepting…" : "Accept invitation"}
        </button>
        <button type="button" className="link" onClick={() => void switchAccount()}>
          Use another account
        </button>
      </p>
    </InviteCard>
  );
}

function InviteCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="auth">
      <section className="auth-card" aria-label="Invitation">
        <h1>
          <span className="logo" aria-hidden="true" /> AgentWorks
        </h1>
        <h2>{title}</h2>
        {children}
      </section>
    </main>
  );
}
