# Secrets whose values operators add (provider and Stripe keys), each readable only by the services that
# read it. Add a value with: gcloud secrets versions add <id> --data-file=-
resource "google_secret_manager_secret" "secret" {
  for_each  = toset(var.secret_ids)
  project   = var.project_id
  secret_id = each.value
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = { for grant in flatten([
    for secret in var.secret_ids : [for service in var.accessors[secret] : { secret = secret, service = service }]
  ]) : "${grant.secret}/${grant.service}" => grant }
  project   = var.project_id
  secret_id = google_secret_manager_secret.secret[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${var.service_emails[each.value.service]}"
}

data "google_project" "project" {
  project_id = var.project_id
}

# The tokens of remotes that projects connect: the orchestrator makes, versions, reads and deletes one secret per
# project, named project-git-token-<project id>, and no other secret.
resource "google_project_iam_member" "remote_tokens" {
  project = var.project_id
  role    = "roles/secretmanager.admin"
  member  = "serviceAccount:${var.service_emails["orchestrator"]}"
  condition {
    title      = "project-git-tokens-only"
    expression = "resource.name.startsWith(\"projects/${data.google_project.project.number}/secrets/project-git-token-\")"
  }
}
