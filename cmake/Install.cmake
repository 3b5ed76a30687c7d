# What `cmake --install` puts where, besides the programs and liblmz
# (cli/, daemon/, capi/, libcodec/engine/): man pages, the helper commands,
# shell completions, the documents and specs, a sample lmzd.conf, the
# systemd units and the shipped models (not the test model `tiny`).
# Everything is relative to the install prefix, and the programs find the
# models and the engine relative to themselves, so an installed tree can be
# moved or installed with `--prefix` or DESTDIR.

option(LMZ_INSTALL_LICENSE "Install LICENSE with the documents (off for distribution packages, which carry their own copyright file)" ON)
set(LMZ_DOC_DIR "${CMAKE_INSTALL_DATADIR}/doc/lmz" CACHE STRING
    "Where the documents are installed, relative to the prefix")
set(LMZ_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where the systemd units are installed, relative to the prefix")

# Man pages, generated from their Markdown sources (man/*.md).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(lmz_man_pages lmz.1 lmzd.8)
set(lmz_man_outputs)
foreach(page ${lmz_man_pages})
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/man/${page}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND Python3::Interpreter ${PROJECT_SOURCE_DIR}/man/md2man.py
            ${PROJECT_SOURCE_DIR}/man/${page}.md ${PROJECT_BINARY_DIR}/man/${page} ${PROJECT_VERSION}
    DEPENDS ${PROJECT_SOURCE_DIR}/man/${page}.md ${PROJECT_SOURCE_DIR}/man/md2man.py
    COMMENT "Generating man page ${page}")
  list(APPEND lmz_man_outputs ${PROJECT_BINARY_DIR}/man/${page})
  install(FILES ${PROJECT_BINARY_DIR}/man/${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(lmz_man_pages ALL DEPENDS ${lmz_man_outputs})

# The helper commands: unlmz and lmzcat are lmz under another name (it reads
# argv[0]), lmzgrep and lmzless are scripts; their man page is lmz.1.
install(PROGRAMS scripts/lmzgrep scripts/lmzless DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(alias unlmz lmzcat lmzgrep lmzless)
  if(alias STREQUAL "unlmz" OR alias STREQUAL "lmzcat")
    install(CODE "file(CREATE_LINK lmz \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/${alias}\" SYMBOLIC)")
  endif()
  install(CODE "file(CREATE_LINK lmz.1 \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_MANDIR}/man1/${alias}.1\" SYMBOLIC)")
endforeach()

# Shell completions, where bash-completion, zsh and fish look.
install(FILES completions/lmz.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME lmz)
foreach(alias unlmz lmzcat)
  install(CODE "file(CREATE_LINK lmz \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/bash-completion/completions/${alias}\" SYMBOLIC)")
endforeach()
install(FILES completions/_lmz DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES completions/lmz.fish DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)

# Documents: the README, the specs, the JSON shape of `lmz info --json`, a
# sample lmzd.conf and the C example.
install(FILES README.md doc/info-json.md DESTINATION ${LMZ_DOC_DIR})
if(LMZ_INSTALL_LICENSE)
  install(FILES LICENSE DESTINATION ${LMZ_DOC_DIR})
endif()
file(GLOB lmz_specs ${PROJECT_SOURCE_DIR}/spec/*.md)
install(FILES ${lmz_specs} DESTINATION ${LMZ_DOC_DIR}/spec)
install(FILES doc/lmzd.conf DESTINATION ${LMZ_DOC_DIR}/examples)
install(FILES examples/c/lmz_example.c examples/c/CMakeLists.txt
        DESTINATION ${LMZ_DOC_DIR}/examples/c)

# systemd: the units name lmzd and the models by the prefix the tree is
# installed to (known only at install time: `cmake --install --prefix P`).
if(TARGET lmzd)
  install(CODE "
    set(LMZD_BINARY \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}/lmzd\")
    set(LMZD_MODELS_DIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/lmz/models\")
    set(LMZ_DOC_PATH \"\${CMAKE_INSTALL_PREFIX}/${LMZ_DOC_DIR}\")
    configure_file(\"${PROJECT_SOURCE_DIR}/systemd/lmzd.service\"
                   \"${PROJECT_BINARY_DIR}/systemd/lmzd.service\" @ONLY)
    configure_file(\"${PROJECT_SOURCE_DIR}/systemd/lmzd.socket\"
                   \"${PROJECT_BINARY_DIR}/systemd/lmzd.socket\" @ONLY)")
  install(FILES ${PROJECT_BINARY_DIR}/systemd/lmzd.service ${PROJECT_BINARY_DIR}/systemd/lmzd.socket
          DESTINATION ${LMZ_SYSTEMD_UNIT_DIR})
  install(FILES systemd/lmz.sysusers.conf DESTINATION lib/sysusers.d RENAME lmz.conf)
endif()

# The shipped models; `tiny` exists for the tests only.
file(GLOB lmz_shipped_models ${LMZ_SOURCE_MODELS_DIR}/*.lmzm)
list(FILTER lmz_shipped_models EXCLUDE REGEX "/tiny\\.lmzm$")
if(lmz_shipped_models)
  install(FILES ${lmz_shipped_models} DESTINATION ${CMAKE_INSTALL_DATADIR}/lmz/models)
endif()
