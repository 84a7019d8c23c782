import { lazy, Suspense, type ReactNode } from "react";
import { createBrowserRouter, Navigate, RouterProvider } from "react-router";
import { AuthPage } from "./pages/Auth";
import { BoardPage } from "./board/BoardPage";
import { Home, WorkspaceHome } from "./pages/Home";
import { InvitePage } from "./pages/Invite";
import { Shell } from "./pages/Shell";
import { ScreenError, Spinner } from "./ui";

// Only the board loads with the app: the charts, the diff engine, the console's stream and the workspace pages
// load with the pages that use them.
const ConsolePage = lazy(() => import("./pages/Console").then((m) => ({ default: m.ConsolePage })));
const ProvidersPage = lazy(() => import("./pages/Providers").then((m) => ({ default: m.ProvidersPage })));
const MembersPage = lazy(() => import("./pages/People").then((m) => ({ default: m.MembersPage })));
const ApiKeysPage = lazy(() => import("./pages/People").then((m) => ({ default: m.ApiKeysPage })));
const UsagePage = lazy(() => import("./pages/Money").then((m) => ({ default: m.UsagePage })));
const BillingPage = lazy(() => import("./pages/Money").then((m) => ({ default: m.BillingPage })));
const DocumentsPage = lazy(() => import("./pages/Documents").then((m) => ({ default: m.DocumentsPage })));
const RepositoryPage = lazy(() => import("./pages/Repository").then((m) => ({ default: m.RepositoryPage })));

function Later({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Spinner />}>{children}</Suspense>;
}

const router = createBrowserRouter([
  { path: "/signin", element: <AuthPage mode="signin" />, errorElement: <ScreenError /> },
  { path: "/signup", element: <AuthPage mode="signup" />, errorElement: <ScreenError /> },
  { path: "/invite", element: <InvitePage />, errorElement: <ScreenError /> },
  {
    path: "/",
    element: <Shell />,
    errorElement: <ScreenError />,
    children: [
      { index: true, element: <Home /> },
      { path: "w/:workspaceId", element: <WorkspaceHome /> },
      { path: "w/:workspaceId/p/:projectId/board", element: <BoardPage /> },
      { path: "w/:workspaceId/p/:projectId/cards/:cardRef", element: <BoardPage /> },
      { path: "w/:workspaceId/p/:projectId/console", element: (
          <Later>
            <ConsolePage />
          </Later>
        ) },
      { path: "w/:workspaceId/p/:projectId/documents", element: (
          <Later>
            <DocumentsPage />
          </Later>
        ) },
      { path: "w/:workspaceId/p/:projectId/repository", element: (
          <Later>
            <RepositoryPage />
          </Later>
        ) },
      { path: "w/:workspaceId/p/:projectId/providers", element: (
          <Later>
            <ProvidersPage />
          </Later>
        ) },
      { path: "w/:workspaceId/usage", element: (
          <Later>
            <UsagePage />
          </Later>
        ) },
      { path: "w/:workspaceId/billing", element: (
          <Later>
            <BillingPage />
          </Later>
        ) },
      { path: "w/:workspaceId/members", element: (
          <Later>
            <MembersPage />
          </Later>
        ) },
      { path: "w/:workspaceId/api-keys", element: (
          <Later>
            <ApiKeysPage />
          </Later>
        ) },
      { path: "*", element: <Navigate to="/" replace /> },
    ],
  },
]);

export function App() {
  return <RouterProvider router={router} />;
}
