# The critical alerts (service errors, run failures, database connections, provider cost spikes, the usage
# ledger's backlog, WebSocket disconnects, log-stream's cross-instance fan-out), the log-based metrics they
# need, and one dashboard.

locals {
  run_metric   = "logging_googleapis_com:user_${google_logging_metric.run_finished.name}"
  spike_metric = "logging_googleapis_com:user_${google_logging_metric.cost_spike.name}"
  close_metric = "logging_googleapis_com:user_${google_logging_metric.websocket_closed.name}"
  relisten     = "logging_googleapis_com:user_${google_logging_metric.fanout_listener_reconnecting.name}"
  notify_fail  = "logging_googleapis_com:user_${google_logging_metric.fanout_notify_failed.name}"
  requests     = "run_googleapis_com:request_count"
  # The one pull subscription (contracts/topology.yaml): its failures are nacks, not 5xx answers.
  ledger_subscription = "billing-usage-events"
  channels            = [for channel in google_monitoring_notification_channel.email : channel.id]

  alerts = {
    service_errors = {
      name     = "Service error rate above 1%"
      query    = "sum by (service_name) (rate(${local.requests}{monitored_resource=\"cloud_run_revision\",response_code_class=\"5xx\"}[5m])) / sum by (service_name) (rate(${local.requests}{monitored_resource=\"cloud_run_revision\"}[5m])) > 0.01"
      duration = "300s"
      docs     = "More than 1% of a service's requests answered 5xx over five minutes. Check the service's ERROR logs (severity>=ERROR, resource.labels.service_name) and its latest revision."
    }
    run_failures = {
      name     = "Agent run failure rate above 5%"
      query    = "sum(rate(${local.run_metric}{status=\"failed\"}[15m])) / sum(rate(${local.run_metric}[15m])) > 0.05"
      duration = "300s"
      docs     = "More than 5% of finished agent runs failed over fifteen minutes. Look at the orchestrator's run.finished logs by agent, and the provider router's circuit state."
    }
    database_connections = {
      name     = "Database connections near exhaustion"
      query    = "max(cloudsql_googleapis_com:database_postgresql_num_backends{monitored_resource=\"cloudsql_database\"}) > ${floor(var.max_connections * 0.8)}"
      duration = "120s"
      docs     = "Cloud SQL has more than 80% of max_connections (${var.max_connections}) open. Lower max instances or pool sizes, or raise max_connections."
    }
    cost_spike = {
      name     = "Provider cost spike above 50%"
      query    = "sum(increase(${local.spike_metric}[10m])) > 0"
      duration = "0s"
      docs     = "Billing logged billing.cost_spike: a workspace's provider cost today is more than 150% of its trailing seven-day average. The log entry names the workspace; its billing page lists the alert."
    }
    usage_backlog = {
      name     = "Usage ledger more than ten minutes behind"
      query    = "max(pubsub_googleapis_com:subscription_oldest_unacked_message_age{monitored_resource=\"pubsub_subscription\",subscription_id=\"${local.ledger_subscription}\"}) > 600"
      duration = "300s"
      docs     = "A usage event on ${local.ledger_subscription} has waited over ten minutes: billing's pull consumer is down, too slow, or nacking (its pull.transient_failure and pull.batch_failed logs say why). Charges, budgets and invoices lag until it catches up; nothing is lost before the subscription's retention."
    }
    websocket_disconnects = {
      name     = "WebSocket disconnect rate above 10%"
      query    = "sum(rate(${local.close_metric}{abnormal=\"true\"}[10m])) / sum(rate(${local.close_metric}[10m])) > 0.1"
      duration = "300s"
      docs     = "More than 10% of terminal and board sockets ended abnormally (dropped, or cut for being too slow) over ten minutes. Check log-stream's instances and the gateway's WebSocket relay."
    }
    fanout_listener_reconnects = {
      name     = "Log-stream listener reconnecting repeatedly"
      query    = "sum(increase(${local.relisten}[10m])) > 3"
      duration = "0s"
      docs     = "Log-stream's LISTEN connection failed more than three times in ten minutes (fanout.listener_reconnecting names the error). Each reconnect makes every client of the instance resync from the store and the instance answer /readyz 503 until it listens again; look at Cloud SQL's health and connection limits (decision 0005)."
    }
    fanout_notify_failures = {
      name     = "Log-stream notifications failing"
      query    = "sum(increase(${local.notify_fail}[10m])) > 0"
      duration = "0s"
      docs     = "Log-stream logged fanout.notify_failed: a stored batch or board message was not announced to the other instances (the notification queue may be filling behind a listener that stopped reading). Lines are still stored and terminals fill the gap from the store, but boards on other instances miss the change until they refetch (decision 0005)."
    }
  }
}

resource "google_monitoring_notification_channel" "email" {
  for_each     = toset(var.alert_emails)
  project      = var.project_id
  display_name = "AgentWorks ${var.environment} alerts: ${each.value}"
  type         = "email"
  labels       = { email_address = each.value }
}

resource "google_logging_metric" "run_finished" {
  project = var.project_id
  name    = "agentworks_run_finished"
  filter  = "resource.type=\"cloud_run_revision\" AND jsonPayload.message=\"run.finished\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key         = "status"
      value_type  = "STRING"
      description = "completed, failed or cancelled"
    }
    labels {
      key         = "agent"
      value_type  = "STRING"
      description = "The agent that ran"
    }
  }
  label_extractors = {
    status = "EXTRACT(jsonPayload.status)"
    agent  = "EXTRACT(jsonPayload.agent)"
  }
}

resource "google_logging_metric" "cost_spike" {
  project = var.project_id
  name    = "agentworks_cost_spike"
  filter  = "resource.type=\"cloud_run_revision\" AND jsonPayload.message=\"billing.cost_spike\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

resource "google_logging_metric" "websocket_closed" {
  project = var.project_id
  name    = "agentworks_websocket_closed"
  filter  = "resource.type=\"cloud_run_revision\" AND jsonPayload.message=\"websocket.closed\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key         = "abnormal"
      value_type  = "STRING"
      description = "true for dropped connections and clients cut for being too slow"
    }
    labels {
      key         = "channel"
      value_type  = "STRING"
      description = "terminal or board"
    }
  }
  label_extractors = {
    abnormal = "EXTRACT(jsonPayload.abnormal)"
    channel  = "EXTRACT(jsonPayload.channel)"
  }
}

resource "google_logging_metric" "fanout_listener_reconnecting" {
  project = var.project_id
  name    = "agentworks_fanout_listener_reconnecting"
  filter  = "resource.type=\"cloud_run_revision\" AND jsonPayload.message=\"fanout.listener_reconnecting\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

resource "google_logging_metric" "fanout_notify_failed" {
  project = var.project_id
  name    = "agentworks_fanout_notify_failed"
  filter  = "resource.type=\"cloud_run_revision\" AND jsonPayload.message=\"fanout.notify_failed\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

resource "google_monitoring_alert_policy" "alert" {
  for_each              = local.alerts
  project               = var.project_id
  display_name          = "AgentWorks ${var.environment}: ${each.value.name}"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.channels
  user_labels           = { environment = var.environment }

  conditions {
    display_name = each.value.name
    condition_prometheus_query_language {
      query               = each.value.query
      duration            = each.value.duration
      evaluation_interval = "60s"
    }
  }

  documentation {
    content   = each.value.docs
    mime_type = "text/markdown"
  }

  alert_strategy {
    auto_close = "1800s"
  }

  depends_on = [
    google_logging_metric.run_finished,
    google_logging_metric.cost_spike,
    google_logging_metric.websocket_closed,
    google_logging_metric.fanout_listener_reconnecting,
    google_logging_metric.fanout_notify_failed,
  ]
}

resource "google_monitoring_dashboard" "platform" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "AgentWorks ${var.environment}"
    mosaicLayout = {
      columns = 12
      tiles = [for index, tile in local.tiles : {
        xPos   = (index % 2) * 6
        yPos   = floor(index / 2) * 4
        width  = 6
        height = 4
        widget = {
          title = tile.title
          xyChart = {
            dataSets = [{ plotType = "LINE", timeSeriesQuery = { prometheusQuery = tile.query } }]
          }
        }
      }]
    }
  })
}

locals {
  tiles = [
    { title = "Requests per second by service", query = "sum by (service_name) (rate(${local.requests}{monitored_resource=\"cloud_run_revision\"}[5m]))" },
    { title = "5xx ratio by service", query = local.alerts.service_errors.query },
    { title = "p99 request latency (ms) by service", query = "histogram_quantile(0.99, sum by (service_name, le) (rate(run_googleapis_com:request_latencies_bucket{monitored_resource=\"cloud_run_revision\"}[5m])))" },
    { title = "Instances by service", query = "sum by (service_name) (run_googleapis_com:container_instance_count{monitored_resource=\"cloud_run_revision\"})" },
    { title = "Agent runs finished by status", query = "sum by (status) (rate(${local.run_metric}[15m]))" },
    { title = "Database connections", query = "max(cloudsql_googleapis_com:database_postgresql_num_backends{monitored_resource=\"cloudsql_database\"})" },
    { title = "WebSocket closes by kind", query = "sum by (abnormal) (rate(${local.close_metric}[10m]))" },
    { title = "Cost spikes", query = "sum(increase(${local.spike_metric}[1h]))" },
  ]
}
