output "topics" {
  description = "Topic name → id."
  value       = { for name, topic in google_pubsub_topic.topic : name => topic.id }
}

output "subscriptions" {
  description = "Subscription name → id."
  value       = { for name, sub in google_pubsub_subscription.subscription : name => sub.id }
}
