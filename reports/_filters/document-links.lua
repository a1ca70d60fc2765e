-- Links between the evaluation and its annex in the reader's format. Staging resolves each
-- `{{< xref annex LABEL >}}` to "Annex Section 4" linked to annex.html#LABEL; a Word or PDF
-- reader has annex.docx or annex.pdf beside the file instead, where an HTML anchor means
-- nothing, so there the link opens the other document in the same format and the text names
-- the section or exhibit. Used by Quarto (_quarto.yml) and by the pandoc fallback alike.
local files = {
  docx = { ["index.html"] = "evaluation.docx", ["annex.html"] = "annex.docx" },
  typst = { ["index.html"] = "evaluation.pdf", ["annex.html"] = "annex.pdf" },
}

function Link(link)
  local own = files[FORMAT]
  if own == nil then
    return nil
  end
  local file = link.target:match("^([%w_-]+%.html)#") or link.target:match("^([%w_-]+%.html)$")
  if file and own[file] then
    link.target = own[file]
    return link
  end
  return nil
end
