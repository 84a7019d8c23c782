import { createBrowserRouter, Navigate, RouterProvider } from "react-router";
import { AuthPage } from "./pages/Auth";
import { BoardPage } from "./board/BoardPage";
import { ConsolePage } from "./pages/Console";
import { DocumentsPage } from "./pages/Documents";
import { Home, WorkspaceHome } from "./pages/Home";
import { ApiKeysPage, MembersPage } from "./pages/People";
import { ProvidersPage } from "./pages/Providers";
import { BillingPage, UsagePage } from "./pages/Money";
import { Shell } from "./pages/Shell";
import { ScreenError } from "./ui";

const router = createBrowserRouter([
  { path: "/signin", element: <AuthPage mode="signin" />, errorElement: <ScreenError /> },
  { path: "/signup", element: <AuthPage mode="signup" />, errorElement: <ScreenError /> },
  {
    path: "/",
    element: <Shell />,
    errorElement: <ScreenError />,
    children: [
      { index: true, element: <Home /> },
      { path: "w/:workspaceId", element: <WorkspaceHome /> },
      { path: "w/:workspaceId/p/:projectId/board", element: <BoardPage /> },
      { path: "w/:workspaceId/p/:projectId/console", element: <ConsolePage /> },
      { path: "w/:workspaceId/p/:projectId/documents", element: <DocumentsPage /> },
      { path: "w/:workspaceId/p/:projectId/providers", element: <ProvidersPage /> },
      { path: "w/:workspaceId/usage", element: <UsagePage /> },
      { path: "w/:workspaceId/billing", element: <BillingPage /> },
      { path: "w/:workspaceId/members", element: <MembersPage /> },
      { path: "w/:workspaceId/api-keys", element: <ApiKeysPage /> },
      { path: "*", element: <Navigate to="/" replace /> },
    ],
  },
]);

export function App() {
  return <RouterProvider router={router} />;
}
