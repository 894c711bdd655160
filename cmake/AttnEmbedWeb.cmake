# attn_embed_web(TARGET): the explorer's front end (web/*, with app.js made from web/js/*.js) compiled into
# TARGET as attn::cli::web_assets() (apps/attn/web_assets.h), re-embedded whenever a file there changes. Used by
# the `attn` binary and the Python module (its inline views).
function(attn_embed_web target)
  file(GLOB web_files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/web/* ${PROJECT_SOURCE_DIR}/web/js/*.js)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/web_assets.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DWEB_DIR=${PROJECT_SOURCE_DIR}/web -DOUT=${out} -P ${PROJECT_SOURCE_DIR}/cmake/embed_web.cmake
    DEPENDS ${web_files} ${PROJECT_SOURCE_DIR}/cmake/embed_web.cmake
    COMMENT "Embedding web/ into ${target}")
  target_sources(${target} PRIVATE ${out})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/apps)
endfunction()
