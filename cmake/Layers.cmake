# The layers of lib/, lowest first, and what each folder may include. This table is the rule
# docs/architecture.md describes; cmake/CheckLayers.cmake enforces it on every build (target
# check_layers) and in the test suite (test layering).
#
# A folder may include its own headers and those of the folders listed for it; every listed
# folder must sit in a lower layer, so dependencies point one way. The pure core also may not
# include Asio, Beast, spdlog or read a clock.
set(DEPLOYGUARD_LAYERS
  "log:"
  "asio:"
  "core:"
  "config:core"
  "parse:core"
  "state:core"
  "webhook:core,parse"
  "http/client:core,log"
  "http/server:core,log"
  "upstream:core,config,parse,http/client,log"
  "service:core,state,log"
  "remediation:core,parse,upstream,service,log"
  "api:core,service,remediation,http/server"
  "notify:core,config,state,webhook,http/client,log"
  "app:core,config,webhook,http/client,http/server,upstream,service,remediation,api,notify,log"
  "cli:core"
  "daemon:core,config,app,cli")
