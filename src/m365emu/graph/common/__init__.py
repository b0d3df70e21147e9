"""What every Graph resource shares: the request/response shapes, Graph-shaped errors,
bearer-token checks, throttling and the dispatcher that runs a route through all of them."""
