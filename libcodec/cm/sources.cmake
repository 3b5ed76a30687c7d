# Sources of the context-mixing stages (spec/MIXING.md), relative to libcodec/.
# The cores (mix1_core.h, stage_core.h) are header-only: a CUDA kernel
# includes the same headers.
set(LMZ_CODEC_CM_SOURCES
  cm/cm_stage.cc
  cm/stage_tables.cc
)
