"""Dynamic providers: what azure-native cannot order for us, written over Azure Resource
Manager once the resources it names exist."""
