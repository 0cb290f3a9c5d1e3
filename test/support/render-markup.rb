# Renders texts the way Redmine 5 (Textile and CommonMark) and a GitHub-style Markdown viewer (cmark-gfm, raw
# HTML allowed: the worst case) would, for the escaping tests. Reads a JSON array of { format, text } on stdin,
# writes a JSON array of { html, elements, text }: the HTML, every element name in it, and its text content.
# Loads only Redmine's formatter files, not Rails: no database or running Redmine is needed.
require 'json'
$LOAD_PATH.unshift '/usr/share/redmine/lib'
require 'active_support/all'
require 'action_view'
require 'loofah'
require 'nokogiri'
require 'html/pipeline'
require 'commonmarker'
require 'redcarpet'
module Redmine
  module WikiFormatting; end
  # the CommonMark formatter reads one setting at load time; Redmine's default is off
  module Configuration
    def self.[](_key) = nil
  end
end
require 'redmine/helpers/url'
require 'redmine/wiki_formatting/links_helper'
require 'redmine/wiki_formatting'
require 'redmine/wiki_formatting/html_parser'
require 'redmine/wiki_formatting/textile/redcloth3'
require 'redmine/wiki_formatting/textile/formatter'
require 'redmine/wiki_formatting/markdown/formatter'
%w[sanitization_filter syntax_highlight_filter external_links_filter fixup_auto_links_filter markdown_filter formatter].each do |f|
  require "redmine/wiki_formatting/common_mark/#{f}"
end

def render(format, text)
  case format
  when 'textile' then Redmine::WikiFormatting::Textile::Formatter.new(text.dup).to_html
  when 'common_mark' then Redmine::WikiFormatting::CommonMark::Formatter.new(text.dup).to_html
  when 'gfm' then CommonMarker.render_html(text, [:UNSAFE], %i[autolink table strikethrough])
  else raise "unknown format #{format}"
  end
end

out = JSON.parse($stdin.read).map do |item|
  html = render(item.fetch('format'), item.fetch('text'))
  doc = Nokogiri::HTML.fragment(html)
  { html: html, elements: doc.css('*').map(&:name), text: doc.text }
end
puts JSON.generate(out)
