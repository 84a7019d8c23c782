# Topics and subscriptions exactly as contracts/topology.yaml declares them (via the catalog module).

locals {
  pubsub_agent = "serviceAccount:service-${var.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  publisher_grants = { for pair in flatten([
    for topic, t in var.topics : [for service in t.publishers : { topic = topic, service = service }]
  ]) : "${pair.topic}/${pair.service}" => pair }
  dead_letter_topics  = { for name, t in var.topics : name => t if t.dead_letter }
  dead_lettering_subs = { for name, s in var.subscriptions : name => s if s.dead_letter_topic != null }
  pull_subs           = { for name, s in var.subscriptions : name => s if s.subscriber != null && s.push_endpoint == null }
}

resource "google_pubsub_topic" "topic" {
  # checkov:skip=CKV_GCP_83: Google-managed encryption keys; set kms_key_name here to use CMEK
  for_each                   = var.topics
  project                    = var.project_id
  name                       = each.key
  labels                     = var.labels
  message_retention_duration = "604800s" # seven days, to replay into a new subscription
}

resource "google_pubsub_subscription" "subscription" {
  for_each                   = var.subscriptions
  project                    = var.project_id
  name                       = each.key
  topic                      = google_pubsub_topic.topic[each.value.topic].id
  labels                     = var.labels
  ack_deadline_seconds       = each.value.ack_deadline_seconds
  enable_message_ordering    = each.value.ordering
  filter                     = each.value.filter
  message_retention_duration = each.value.retention

  retry_policy {
    minimum_backoff = each.value.minimum_backoff
    maximum_backoff = each.value.maximum_backoff
  }

  expiration_policy {
    ttl = "" # never expires, however quiet the topic
  }

  dynamic "push_config" {
    for_each = each.value.push_endpoint == null ? [] : [each.value]
    content {
      push_endpoint = push_config.value.push_endpoint
      oidc_token {
        service_account_email = var.invoker_email
        audience              = push_config.value.audience
      }
    }
  }

  dynamic "dead_letter_policy" {
    for_each = each.value.dead_letter_topic == null ? [] : [each.value]
    content {
      dead_letter_topic     = google_pubsub_topic.topic[dead_letter_policy.value.dead_letter_topic].id
      max_delivery_attempts = dead_letter_policy.value.max_delivery_attempts
    }
  }
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.publisher_grants
  project  = var.project_id
  topic    = google_pubsub_topic.topic[each.value.topic].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${var.service_emails[each.value.service]}"
}

# A pull subscription is read, acknowledged and nacked by its service's own identity.
resource "google_pubsub_subscription_iam_member" "pull_subscriber" {
  for_each     = local.pull_subs
  project      = var.project_id
  subscription = google_pubsub_subscription.subscription[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.service_emails[each.value.subscriber]}"
}

# Pub/Sub's service agent forwards undeliverable messages: it publishes to the dead-letter topics and
# acknowledges on the source subscriptions.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.dead_letter_topics
  project  = var.project_id
  topic    = google_pubsub_topic.topic[each.key].name
  role     = "roles/pubsub.publisher"
  member   = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each     = local.dead_lettering_subs
  project      = var.project_id
  subscription = google_pubsub_subscription.subscription[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# …and mints the OIDC tokens of push requests as the invoker account.
resource "google_service_account_iam_member" "push_token_creator" {
  service_account_id = var.invoker_account_id
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}
