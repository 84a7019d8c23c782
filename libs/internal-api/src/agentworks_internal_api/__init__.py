"""The internal HTTP contracts of the fleet: for each route one service calls on another, the model its answer
(and body) takes, declared by the serving endpoint and parsed by every caller (one module per serving service)."""

from agentworks_internal_api.answers import Answer
from agentworks_internal_api.catalog import ROUTES
from agentworks_internal_api.route import Command, InternalRoute, Lookup, PeerUnavailableError

__all__ = ["ROUTES", "Answer", "Command", "InternalRoute", "Lookup", "PeerUnavailableError"]
