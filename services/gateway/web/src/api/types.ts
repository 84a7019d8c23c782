// Shapes of the public API (see /api/docs). Money is an exact decimal string; null means hidden or unknown.

export type Role = "owner" | "member" | "viewer";

export interface User {
  id: string;
  email: string;
  name: string;
  created_at: string;
}

export interface Workspace {
  id: string;
  name: string;
  role: Role;
  created_at: string;
}

export interface Project {
  id: string;
  workspace_id: string;
  name: string;
  description: string;
  status: string;
  board_id: string | null;
  created_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface RunBadge {
  last_status: string;
  last_agent: string;
  runs: number;
  total_price: string;
  awaiting_approval?: number;
}

export interface Card {
  id: string;
  project_id: string;
  board_id: string;
  lane_id: string;
  position: number;
  title: string;
  description: string;
  card_type: string;
  assignee_id: string | null;
  parent_id: string | null;
  created_at: string;
  updated_at: string;
  runs?: RunBadge | null;
}

export interface Lane {
  id: string;
  number: number;
  position: number;
  name: string;
  wip_limit: number | null;
  requires_approval?: boolean;
  card_count?: number;
  cards: Card[];
}

export interface Board {
  id: string;
  project_id: string;
  workspace_id: string;
  name: string;
  lanes: Lane[];
}

export interface Run {
  id: string;
  card_id: string;
  agent: string;
  kind: string;
  status: string;
  attempt: number;
  provider: string | null;
  model: string | null;
  input_tokens: number;
  output_tokens: number;
  cost: string | null;
  price: string | null;
  summary: string | null;
  reason: string | null;
  error_code: string | null;
  started_at: string | null;
  finished_at: string | null;
  approval?: "pending" | "approved" | "rejected" | null;
  approval_comment?: string;
}

export interface CardRuns {
  runs: Run[];
  total_price: string;
  total_cost: string | null;
}

export interface AgentInfo {
  key: string;
  display_name: string;
  lanes: number[];
  default_provider: string;
  default_model: string;
  description: string;
}

export interface AgentConfig {
  agent: string;
  display_name: string;
  lanes: number[];
  provider: string;
  model: string;
  enabled: boolean;
  overridden: boolean;
}

export interface ModelChoice {
  provider: string;
  model: string;
}

export interface DocumentInfo {
  id: string;
  project_id: string;
  kind: string;
  title: string;
  latest_version: number;
  updated_at: string;
}

export interface VersionMeta {
  version: number;
  title: string;
  content_type: string;
  author_id: string | null;
  source_run_id: string | null;
  created_at: string;
}

export interface Version extends VersionMeta {
  content: string;
}

export interface Member {
  id: string;
  user_id: string | null;
  email: string;
  role: Role;
  status: string;
  created_at: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface NewApiKey extends ApiKey {
  key: string;
}

export interface UsageRow {
  key: string;
  runs: number;
  provider_calls: number;
  input_tokens: number;
  output_tokens: number;
  images: number;
  cost: string | null;
  price: string | null;
}

export interface Usage {
  workspace_id: string;
  start: string;
  end: string;
  currency: string;
  totals: UsageRow;
  series: Record<string, UsageRow[]>;
}

export interface BudgetInfo {
  scope: "workspace" | "project";
  project_id: string | null;
  monthly_cap: string;
  spent: string;
  percent: string;
  state: "ok" | "warning" | "exceeded";
  period: string;
  updated_at: string;
}

export interface InvoiceLine {
  project_id: string | null;
  agent: string | null;
  description: string;
  runs: number;
  amount: string;
}

export interface BillingSummary {
  workspace_id: string;
  period: string;
  currency: string;
  runs: number;
  price_to_date: string;
  cost_to_date: string | null;
  plan: { markup: string; increment: string };
  invoice_preview: {
    charges: string;
    carried_in: string;
    total: string;
    minimum_charge: string;
    below_minimum: boolean;
    lines: InvoiceLine[];
  };
  budgets: BudgetInfo[];
  cost_alerts: { day: string; day_cost: string | null; trailing_average: string | null; percent_of_average: string }[];
  payment_collection: { enabled: boolean; message: string };
}

export interface Invoice {
  id: string;
  period: string;
  status: string;
  charges: string;
  carried_in: string;
  total: string;
  currency: string;
  hosted_invoice_url: string | null;
  created_at: string;
  paid_at: string | null;
}
