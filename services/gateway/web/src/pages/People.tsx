import { useState, type FormEvent } from "react";
import { api } from "../api/client";
import { keys, useAction, useApiKeys, useMembers } from "../api/hooks";
import type { InvitedMember, Member, NewApiKey, Role } from "../api/types";
import { formatMoment } from "../lib/time";
import { can, ErrorNote, Loaded, usePlace } from "../ui";

const ROLES: Role[] = ["owner", "member", "viewer"];

/** The workspace's people; owners invite (by a link they send), re-issue links, change roles and remove. */
export function MembersPage() {
  const { workspaceId, role } = usePlace();
  const members = useMembers(workspaceId);
  const owner = can(role, "invite");
  const [issued, setIssued] = useState<InvitedMember | null>(null);
  return (
    <section className="panel">
      <h1>Members</h1>
      {issued ? <InviteLink invited={issued} onDone={() => setIssued(null)} /> : null}
      <Loaded query={members} label="Loading members…">
        {(list) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Email</th>
                  <th>Role</th>
                  <th>Status</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((member) => (
                  <MemberRow key={member.id} workspaceId={workspaceId} member={member} owner={owner} onIssued={setIssued} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loaded>
      {owner ? <Invite workspaceId={workspaceId} onIssued={setIssued} /> : null}
    </section>
  );
}

/** The one-time invitation link, shown once like an API key's secret: the owner sends it to the invitee. */
function InviteLink({ invited, onDone }: { invited: InvitedMember; onDone: () => void }) {
  const link = `${window.location.origin}/invite#${invited.invitation.token}`;
  return (
    <div className="secret" role="status">
      <p>
        Send this link to {invited.email}; it works once, until {formatMoment(invited.invitation.expires_at)}, and will not
        be shown again:
      </p>
      <code data-testid="invite-link">{link}</code>
      <button type="button" onClick={() => void navigator.clipboard?.writeText(link)}>
        Copy
      </button>
      <button type="button" className="link" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

interface RowProps {
  workspaceId: string;
  member: Member;
  owner: boolean;
  onIssued: (invited: InvitedMember) => void;
}

function MemberRow({ workspaceId, member, owner, onIssued }: RowProps) {
  const path = `/api/workspaces/${workspaceId}/members/${member.id}`;
  const change = useAction((role: Role) => api(path, { method: "PATCH", body: { role } }), [keys.members(workspaceId)]);
  const remove = useAction(() => api(path, { method: "DELETE" }), [keys.members(workspaceId)]);
  const reissue = useAction(() => api<InvitedMember>(`${path}/invitation`, { method: "POST" }), [keys.members(workspaceId)]);
  return (
    <tr>
      <td>{member.email}</td>
      <td>
        {owner ? (
          <select aria-label={`Role of ${member.email}`} value={member.role} onChange={(e) => change.mutate(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        ) : (
          member.role
        )}
      </td>
      <td>{member.status}</td>
      <td>
        {owner && member.status === "invited" ? (
          <button type="button" className="link" onClick={() => reissue.mutate(undefined, { onSuccess: onIssued })}>
            New link
          </button>
        ) : null}
        {owner ? (
          <button type="button" className="link danger" onClick={() => window.confirm(`Remove ${member.email}?`) && remove.mutate(undefined)}>
            Remove
          </button>
        ) : null}
        <ErrorNote error={change.error ?? remove.error ?? reissue.error} />
      </td>
    </tr>
  );
}

function Invite({ workspaceId, onIssued }: { workspaceId: string; onIssued: (invited: InvitedMember) => void }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const invite = useAction(
    () => api<InvitedMember>(`/api/workspaces/${workspaceId}/members`, { method: "POST", body: { email, role } }),
    [keys.members(workspaceId)],
  );
  function submit(event: FormEvent) {
    event.preventDefault();
    invite.mutate(undefined, {
      onSuccess: (invited) => {
        setEmail("");
        onIssued(invited);
      },
    });
  }
  return (
    <form onSubmit={submit} className="row" aria-label="Invite">
      <input type="email" aria-label="Email to invite" placeholder="name@example.com" value={email} onChange={(e) => setEmail(e.target.value)} required />
      <select aria-label="Role to invite as" value={role} onChange={(e) => setRole(e.target.value as Role)}>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      <button type="submit" className="primary" disabled={invite.isPending}>
        {invite.isPending ? "Inviting…" : "Invite"}
      </button>
      <ErrorNote error={invite.error} />
    </form>
  );
}

/** API keys for scripts and git: every member makes their own, which acts with their role when used; owners see and
 * revoke everyone's. The secret is shown once, at creation. */
export function ApiKeysPage() {
  const { workspaceId, role } = usePlace();
  const owner = can(role, "invite");
  const list = useApiKeys(workspaceId);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<NewApiKey | null>(null);
  const create = useAction(
    () => api<NewApiKey>(`/api/workspaces/${workspaceId}/api-keys`, { method: "POST", body: { name } }),
    [keys.apiKeys(workspaceId)],
  );
  const revoke = useAction((id: string) => api(`/api/workspaces/${workspaceId}/api-keys/${id}`, { method: "DELETE" }), [
    keys.apiKeys(workspaceId),
  ]);
  return (
    <section className="panel">
      <h1>{owner ? "API keys" : "Your API keys"}</h1>
      <p className="muted">
        A key acts as you, with your role in this workspace when it is used
        {role === "viewer" ? ": yours reads and clones, and cannot change anything or run agents." : "."}
        {owner ? " You see every member's keys and may revoke any of them." : ""}
      </p>
      {created ? (
        <div className="secret" role="status">
          <p>
            Copy your new key now; it will not be shown again:
          </p>
          <code data-testid="new-key">{created.key}</code>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(created.key)}>
            Copy
          </button>
          <button type="button" className="link" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      ) : null}
      <form
        className="row"
        aria-label="New API key"
        onSubmit={(event) => {
          event.preventDefault();
          create.mutate(undefined, {
            onSuccess: (key) => {
              setCreated(key);
              setName("");
            },
          });
        }}
      >
        <input aria-label="Key name" placeholder="ci-pipeline" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        <button type="submit" className="primary" disabled={create.isPending}>
          Create key
        </button>
      </form>
      <ErrorNote error={create.error ?? revoke.error} />
      <Loaded query={list} label="Loading keys…">
        {(keysList) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Name</th>
                  {owner ? <th>Made by</th> : null}
                  <th>Prefix</th>
                  <th>Created</th>
                  <th>Last used</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {keysList.map((key) => (
                  <tr key={key.id}>
                    <td>{key.name}</td>
                    {owner ? <td>{key.created_by_email ?? "a former member"}</td> : null}
                    <td className="mono">{key.prefix}…</td>
                    <td>{formatMoment(key.created_at)}</td>
                    <td>{formatMoment(key.last_used_at)}</td>
                    <td>
                      {key.revoked_at ? (
                        <span className="muted">revoked {formatMoment(key.revoked_at)}</span>
                      ) : (
                        <button type="button" className="link danger" onClick={() => revoke.mutate(key.id)}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loaded>
    </section>
  );
}
