bucket = "REPLACE-WITH-YOUR-PROJECT-tfstate"
prefix = "agentworks/prod"
