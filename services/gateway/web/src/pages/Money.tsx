import { useQueries } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, ApiError } from "../api/client";
import { keys, useAction, useBilling, useInvoices, useUsage } from "../api/hooks";
import type { BudgetInfo, Card, UsageRow } from "../api/types";
import { agentName } from "../lib/agents";
import { formatCost, formatPrice, toChartNumber } from "../lib/money";
import { formatMoment } from "../lib/time";
import { can, ErrorNote, Loaded, usePlace } from "../ui";

const RANGES = { month: "This month", "30d": "Last 30 days", "90d": "Last 90 days" } as const;
type Range = keyof typeof RANGES;

function rangeQuery(range: Range): string {
  const today = new Date();
  const iso = (d: Date) => d.toISOString().slice(0, 10);
  const start = new Date(today);
  if (range === "month") start.setUTCDate(1);
  else start.setUTCDate(today.getUTCDate() - (range === "30d" ? 29 : 89));
  const dims = ["day", "provider", "agent", "card"].map((d) => `group_by=${d}`).join("&");
  return `start=${iso(start)}&end=${iso(today)}&${dims}`;
}

/** Charts of cost and runs by day, provider and agent, and the most expensive cards. */
export function UsagePage() {
  const { workspaceId } = usePlace();
  const [range, setRange] = useState<Range>("month");
  const usage = useUsage(workspaceId, rangeQuery(range));
  return (
    <section className="panel">
      <div className="row spread">
        <h1>Usage</h1>
        <select aria-label="Period" value={range} onChange={(e) => setRange(e.target.value as Range)}>
          {Object.entries(RANGES).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <Loaded query={usage} label="Loading usage…">
        {(data) => {
          const showCost = data.totals.cost !== null;
          const label = (name: string, key: string | null | undefined) => (key == null ? "none" : name === "agent" ? agentName(key) : key);
          const series = (name: string) =>
            (data.series[name] ?? []).map((row) => ({ key: label(name, row.key), runs: row.runs, price: toChartNumber(row.price), cost: toChartNumber(row.cost) }));
          const topCards = [...(data.series.card ?? [])].sort((a, b) => toChartNumber(b.price) - toChartNumber(a.price)).slice(0, 10);
          return (
            <>
              <div className="stats">
                <Stat label="Runs" value={String(data.totals.runs)} />
                <Stat label="Charges" value={formatPrice(data.totals.price)} testId="usage-price" />
                {showCost ? <Stat label="Provider cost" value={formatCost(data.totals.cost)} /> : null}
                <Stat label="Tokens in / out" value={`${data.totals.input_tokens} / ${data.totals.output_tokens}`} />
              </div>
              <Chart title="By day" data={series("day")} bars={showCost ? ["price", "cost"] : ["price"]} />
              <Chart title="Runs by day" data={series("day")} bars={["runs"]} />
              <div className="grid-2">
                <Chart title={showCost ? "Cost by provider" : "Calls by provider"} data={series("provider")} bars={showCost ? ["cost"] : ["runs"]} />
                <Chart title="Charges by agent" data={series("agent")} bars={["price"]} />
              </div>
              <h3>Top cards by charges</h3>
              <UsageTable rows={topCards} showCost={showCost} workspaceId={workspaceId} />
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="stat">
      <span className="muted small">{label}</span>
      <strong data-testid={testId}>{value}</strong>
    </div>
  );
}

const COLOURS: Record<string, string> = { price: "#2b6cb0", cost: "#dd6b20", runs: "#38a169" };

function Chart({ title, data, bars }: { title: string; data: Record<string, string | number>[]; bars: string[] }) {
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {data.length === 0 ? (
        <p className="muted">Nothing in this period.</p>
      ) : (
        <ResponsiveContainer width="100%" height={220}>
          <BarChart data={data}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="key" tick={{ fontSize: 11 }} />
            <YAxis tick={{ fontSize: 11 }} />
            <Tooltip />
            <Legend />
            {bars.map((bar) => (
              <Bar key={bar} dataKey={bar} fill={COLOURS[bar]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}

function UsageTable({ rows, showCost, workspaceId }: { rows: UsageRow[]; showCost: boolean; workspaceId: string }) {
  // Name each card by its title, linked to it on its board; a card since deleted says so.
  const cards = useQueries({
    queries: rows.map((row) => ({
      queryKey: ["card", row.key ?? ""],
      queryFn: () => api<Card>(`/api/cards/${row.key}`),
      enabled: Boolean(row.key),
      retry: false,
    })),
  });
  if (rows.length === 0) return <p className="muted">No charged cards in this period.</p>;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Card</th>
            <th className="num">Runs</th>
            {showCost ? <th className="num">Cost</th> : null}
            <th className="num">Charges</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={row.key ?? "console"} data-testid="usage-card">
              <td>
                <UsageCardName cardId={row.key ?? null} card={cards[i]?.data} error={cards[i]?.error} workspaceId={workspaceId} />
              </td>
              <td className="num">{row.runs}</td>
              {showCost ? <td className="num">{formatCost(row.cost)}</td> : null}
              <td className="num">{formatPrice(row.price)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** This period's charges, the invoice preview, budgets with their warning state, and past invoices. */
export function BillingPage() {
  const { workspaceId, role } = usePlace();
  const billing = useBilling(workspaceId);
  const invoices = useInvoices(workspaceId);
  return (
    <section className="panel">
      <h1>Billing</h1>
      <Loaded query={billing} label="Loading billing…">
        {(data) => (
          <>
            <div className="stats">
              <div className="stat">
                <span className="muted small">Period</span>
                <strong>{data.period}</strong>
              </div>
              <div className="stat">
                <span className="muted small">Charges to date</span>
                <strong data-testid="billing-price">{formatPrice(data.price_to_date)}</strong>
              </div>
              <div className="stat">
                <span className="muted small">Runs</span>
                <strong>{data.runs}</strong>
              </div>
              <div className="stat">
                <span className="muted small">API calls ({data.api_calls})</span>
                <strong data-testid="billing-api">{formatCost(data.api_charges_to_date)}</strong>
              </div>
              {data.cost_to_date !== null ? (
                <div className="stat">
                  <span className="muted small">Provider cost</span>
                  <strong>{formatCost(data.cost_to_date)}</strong>
                </div>
              ) : null}
            </div>
            <p className="muted">
              Plan: {data.plan.markup}× markup, billed in increments of {formatPrice(data.plan.increment)} per agent run. {data.payment_collection.message}
            </p>
            <p className="muted" data-testid="billing-api-note">
              Calls made with API keys to the OpenAI-compatible API (<code>/v1</code>) are metered per call at provider cost ×{" "}
              {data.plan.markup}, with no per-call rounding: the month's API usage is one invoice line, rounded up to the cent once.
              They count towards the workspace budget, and once it is spent further calls are refused.
            </p>
            <h3>Budgets</h3>
            <Budgets workspaceId={workspaceId} budgets={data.budgets} editable={can(role, "billing")} />
            {data.cost_alerts.length > 0 ? (
              <div className="warning" role="alert">
                Cost spike: {data.cost_alerts.map((a) => `${a.day} at ${a.percent_of_average}% of the 7-day average`).join("; ")}
              </div>
            ) : null}
            <h3>Invoice preview</h3>
            <p>
              Charges {formatPrice(data.invoice_preview.charges)} + carried over {formatPrice(data.invoice_preview.carried_in)} ={" "}
              <strong>{formatPrice(data.invoice_preview.total)}</strong>
              {data.invoice_preview.below_minimum ? (
                <span className="muted"> (below the {formatPrice(data.invoice_preview.minimum_charge)} minimum: carried to next month)</span>
              ) : null}
            </p>
          </>
        )}
      </Loaded>
      <h3>Invoices</h3>
      <Loaded query={invoices} label="Loading invoices…">
        {(list) =>
          list.length === 0 ? (
            <p className="muted">No invoices yet.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Period</th>
                    <th>Status</th>
                    <th className="num">Total</th>
                    <th>Paid</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {list.map((invoice) => (
                    <tr key={invoice.id}>
                      <td>{invoice.period}</td>
                      <td>{invoice.status}</td>
                      <td className="num">{formatPrice(invoice.total)}</td>
                      <td>{formatMoment(invoice.paid_at)}</td>
                      <td>{invoice.hosted_invoice_url ? <a href={invoice.hosted_invoice_url}>View</a> : null}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      <p>
        <a href={`/api/workspaces/${workspaceId}/charges.csv`}>Download every charge (CSV)</a>
      </p>
    </section>
  );
}

function Budgets({ workspaceId, budgets, editable }: { workspaceId: string; budgets: BudgetInfo[]; editable: boolean }) {
  const workspace = budgets.find((b) => b.scope === "workspace");
  const [cap, setCap] = useState(workspace?.monthly_cap ?? "");
  const save = useAction(
    (monthly_cap: string) => api(`/api/workspaces/${workspaceId}/budgets/workspace`, { method: "PUT", body: { monthly_cap } }),
    [keys.billing(workspaceId)],
  );
  function submit(event: FormEvent) {
    event.preventDefault();
    save.mutate(cap.trim());
  }
  return (
    <>
      {budgets.length === 0 ? <p className="muted">No budget set.</p> : null}
      <ul className="budgets">
        {budgets.map((b) => (
          <li key={`${b.scope}-${b.project_id ?? ""}`} className={`budget ${b.state}`} data-testid="budget">
            {b.scope === "workspace" ? "Workspace" : `Project ${b.project_id}`}: {formatPrice(b.spent)} of {formatPrice(b.monthly_cap)} ({b.percent}%)
            {b.state === "warning" ? " — warning: 80% reached" : ""}
            {b.state === "exceeded" ? " — exceeded: new runs are refused until the cap is raised" : ""}
            <meter min={0} max={100} low={80} high={99} optimum={0} value={Math.min(100, Number(b.percent))} />
          </li>
        ))}
      </ul>
      {editable ? (
        <form onSubmit={submit} className="row" aria-label="Workspace budget">
          <label>
            Monthly cap (USD){" "}
            <input inputMode="decimal" pattern="\d+(\.\d{1,2})?" value={cap} onChange={(e) => setCap(e.target.value)} required />
          </label>
          <button type="submit" disabled={save.isPending}>
            {save.isPending ? "Saving…" : "Set budget"}
          </button>
          <ErrorNote error={save.error} />
        </form>
      ) : null}
    </>
  );
}

/** A usage row's card: its title linked to it on the board, "Console" for runs asked in the console, or why not. */
function UsageCardName({ cardId, card, error, workspaceId }: { cardId: string | null; card: Card | undefined; error: unknown; workspaceId: string }) {
  if (cardId === null) return <span>Console (no card)</span>;
  if (card) return <Link to={`/w/${workspaceId}/p/${card.project_id}/board?card=${card.id}`}>{card.title}</Link>;
  if (error instanceof ApiError && error.status === 404) return <span className="muted">A deleted card</span>;
  return <span className="muted">Loading…</span>;
}
