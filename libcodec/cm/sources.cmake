# Sources of the context-mixing stage (spec/MIXING.md), relative to libcodec/.
set(LMZ_CODEC_CM_SOURCES
  cm/apm.cc
  cm/cm_model.cc
  cm/cm_stage.cc
  cm/tables.cc
)
