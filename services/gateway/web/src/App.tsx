import { lazy, Suspense, type ReactNode } from "react";
import { createBrowserRouter, Navigate, RouterProvider } from "react-router";
import { AuthPage } from "./pages/Auth";
import { BoardPage } from "./board/BoardPage";
import { ConsolePage } from "./pages/Console";
import { Home, WorkspaceHome } from "./pages/Home";
import { InvitePage } from "./pages/Invite";
import { ApiKeysPage, MembersPage } from "./pages/People";
import { ProvidersPage } from "./pages/Providers";
import { Shell } from "./pages/Shell";
import { ScreenError, Spinner } from "./ui";

// The charts and the diff engine load only with the pages that use them.
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
      { path: "w/:workspaceId/p/:projectId/console", element: <ConsolePage /> },
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
      { path: "w/:workspaceId/p/:projectId/providers", element: <ProvidersPage /> },
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
      { path: "w/:workspaceId/members", element: <MembersPage /> },
      { path: "w/:workspaceId/api-keys", element: <ApiKeysPage /> },
      { path: "*", element: <Navigate to="/" replace /> },
    ],
  },
]);

export function App() {
  return <RouterProvider router={router} />;
}
