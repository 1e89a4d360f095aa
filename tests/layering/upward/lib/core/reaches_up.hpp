#pragma once
// Deliberately wrong: the core including the API layer. cmake/CheckLayers.cmake must reject it
// (test layering_rejects_upward_include).
#include "api/api.hpp"
