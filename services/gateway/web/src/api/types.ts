// The public API's shapes under the names the app uses, all generated from the services' OpenAPI documents
// (`make contracts` writes ./generated). Money is an exact decimal string; null means hidden or unknown.

import type * as billing from "./generated/openapi/billing";
import type * as core from "./generated/openapi/core";
import type * as gateway from "./generated/openapi/gateway";
import type * as orchestrator from "./generated/openapi/orchestrator";

export type User = gateway.UserOut;
export type ApiKey = gateway.KeyOut;
export type NewApiKey = gateway.NewKeyOut;

export type Workspace = core.WorkspaceOut;
export type Role = Workspace["role"];
export type Member = core.MemberOut;
/** A pending member as the invite answers it: the link's secret is shown this once. */
export type InvitedMember = core.InvitedMemberOut;
export type Project = core.ProjectOut;
export type ProjectPage = core.PageProjectOut;
export type Board = core.BoardDetail;
export type Lane = core.LaneWithCards;
export type Card = core.CardOut;
export type CardPage = core.PageCardOut;
export type Label = core.LabelOut;
export type Attachment = core.AttachmentOut;
export type ActivityItem = core.ActivityItemOut;
export type ActivityPage = core.ActivityPageOut;
export type RunBadge = core.RunBadge;
export type Run = core.RunOut;
export type CardRuns = core.CardRuns;
export type AgentInfo = core.AgentOut;
export type AgentConfig = core.AgentConfigOut;
export type ModelChoice = core.ModelOut;
export type DocumentInfo = core.DocumentOut;
export type VersionMeta = core.VersionMeta;
export type VersionPage = core.PageVersionMeta;
export type Version = core.VersionOut;
export type CardDocument = core.CardDocumentOut;
export type CardDocumentVersion = core.CardDocumentVersionOut;
export type CardComment = core.CommentOut;
export type PostedComment = core.CommentPostedOut;
export type Notification = core.NotificationOut;
export type Inbox = core.InboxOut;
export type Unread = core.UnreadOut;
export type WatchState = core.WatchOut;
export type CardImage = core.CardImageOut;

export type UsageRow = billing.UsageRowOut;
export type Usage = billing.UsageOut;
export type BudgetInfo = billing.BudgetOut;
export type BillingSummary = billing.BillingOut;
export type Invoice = billing.InvoiceOut;
export type InvoicePage = billing.PageInvoiceOut;

export type CardCode = orchestrator.CardCodeOut;
export type MergeResult = orchestrator.MergeOut;
export type CommandRun = orchestrator.CommandRunOut;
export type Repository = orchestrator.RepositoryOut;
export type ConnectedRemote = orchestrator.ConnectedRemoteOut;
export type RepositoryEntry = orchestrator.EntryOut;
export type RepositoryFiles = orchestrator.FilesOut;
